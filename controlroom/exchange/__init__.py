"""Documents exchanged with partners and printed: NENA EIDO (eido.py: build and check;
eido_export.py / eido_import.py: to and from NENA terms; eido_record.py: our record of one
incident in one shape) and the printable incident report and CSV lists (reports.py). Pure
formats: no database session, no services — controlroom/services/exchange*.py drive them."""
