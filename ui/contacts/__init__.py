"""The contacts queue panel (999, 101, SMS, email, web chat)."""
