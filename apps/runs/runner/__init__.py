"""Running tool code in a sandbox: folder preparation, backends, the result contract and artifacts."""
