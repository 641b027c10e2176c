"""The auditor's workspace: audit search and QA reviews."""
