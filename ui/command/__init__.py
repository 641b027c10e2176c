"""Police command (not the command line): the command panel, its models, the firearms alert."""
