"""The kit every ui feature may use (and which imports no feature, no shell, no cli): ops (run_op:
service calls off the GUI thread), event_bridge and context (the console's session and event signal),
table_model/proxy_models, plain (plain-text labels), qt_workarounds, themes, form widgets, presence
widgets, unit drag-and-drop, the room scope and banner, the idle lock, the PDF writer, placeholders."""
