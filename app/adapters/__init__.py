"""I/O with the outside world. Adapters return plain data and never touch models."""
