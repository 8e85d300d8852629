"""The spec's metric catalog (§3.1): instruments, bucket Views and bounded labels."""
