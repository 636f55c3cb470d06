"""Running tool code in a sandbox: run folder, backends, result contract, artifacts."""
