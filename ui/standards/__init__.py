"""Crime and incident standards (issue 14): prompts and reconciliation panels."""
