"""Offline side: the CICIoT2023 training pipeline and model bundle export."""
