"""What the night publishes under `<data_dir>/published/` (contracts/published_outputs.md):
folders written aside and renamed into place, each with a manifest of checksums."""
