"""Stream side: the Kafka scoring worker, CSV replay and the alert subscriber."""
