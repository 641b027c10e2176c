"""Reference: guidance documents (panel, view, editor) and the procedure shown in the incident form."""
