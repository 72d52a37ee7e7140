"""The imperative shell that runs the pure core on a schedule: batches, lease, HTTP, signals."""
