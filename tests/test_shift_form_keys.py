"""Issue 18 item 7, replayed: the call handler takes a call on the incident form, keyboard only.

Traps seen: Tab in Summary typed a tab (the caller's name went into the summary); Ctrl+Tab switched
tabs mid-typing; Down then Enter did not pick a suggestion; the narrow panel scrolled sideways
and hid the labels; a new form defaulted to FIREARMS; no Close button; errors at the bottom of a
scroll area, out of sight.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea

from tests.helpers import activate
from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm


def make_form(qtbot, session, size=(430, 700)) -> IncidentForm:
    form = IncidentForm(ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(form)
    form.resize(*size)
    activate(qtbot, form)
    form.new_incident()
    return form


def focused():
    return QApplication.focusWidget()


def visible_in_form(form, widget) -> bool:
    """The widget is drawn inside the form's visible rectangle (not scrolled away)."""
    top_left = widget.mapTo(form, widget.rect().topLeft())
    return widget.isVisible() and form.rect().contains(top_left) and widget.visibleRegion().boundingRect().height() > 0


def test_a_new_form_has_no_incident_type_and_saving_without_one_is_refused_inline(qtbot, open_as):
    form = make_form(qtbot, open_as("handler.north"))
    assert form.type.currentData() is None and "choose" in form.type.currentText().lower()
    form.summary.setPlainText("Caller reports a fight")
    qtbot.keyClick(form.summary, Qt.Key_S, Qt.ControlModifier)
    assert form.type.property("invalid") is True and form.errors.labels["incident_type"].isVisible()
    assert "incident type" in form.message.text() and visible_in_form(form, form.message)
    assert focused() is form.type  # the first invalid field has the focus
    assert form.incident is None


def test_tab_walks_the_fields_and_never_types_a_tab_into_the_summary(qtbot, open_as):
    form = make_form(qtbot, open_as("handler.north"))
    form.summary.setFocus()
    qtbot.keyClicks(form.summary, "Male shouting")
    qtbot.keyClick(form.summary, Qt.Key_Tab)
    assert "\t" not in form.summary.toPlainText() and focused() is form.caller_name
    qtbot.keyClicks(focused(), "Jo Bloggs")
    assert form.caller_name.text() == "Jo Bloggs" and form.summary.toPlainText() == "Male shouting"
    qtbot.keyClick(form.caller_name, Qt.Key_Backtab, Qt.ShiftModifier)
    assert focused() is form.summary
    # the whole details tab in order, from channel to the grade rationale
    form.channel.setFocus()
    seen = [form.channel]
    for _ in range(14):
        qtbot.keyClick(focused(), Qt.Key_Tab)
        seen.append(focused())
        if focused() is form.rationale:
            break
    assert seen[:6] == [form.channel, form.type, form.grade, form.location, form.address, form.summary]
    assert form.rationale in seen and form.suggestions not in seen


def test_ctrl_tab_while_typing_stays_on_the_tab(qtbot, open_as):
    form = make_form(qtbot, open_as("handler.north"))
    for field in (form.summary, form.caller_name, form.location):
        field.setFocus()
        qtbot.keyClick(field, Qt.Key_Tab, Qt.ControlModifier)
        assert form.tabs.currentIndex() == 0 and focused() is field


def test_down_enter_picks_a_suggestion_esc_closes_the_list_then_cancels(qtbot, open_as):
    form = make_form(qtbot, open_as("handler.north"))
    form.location.setFocus()
    qtbot.keyClicks(form.location, "Aylesb")
    qtbot.waitUntil(lambda: form.suggestions.isVisible(), timeout=3000)
    assert form.suggestions.currentRow() == -1  # nothing highlighted for the operator
    qtbot.keyClick(form.location, Qt.Key_Return)  # Enter before choosing: nothing picked
    assert form.lat is None
    qtbot.keyClick(form.location, Qt.Key_Down)
    qtbot.keyClick(form.location, Qt.Key_Return)
    assert form.lat is not None and form.location.text().startswith("Aylesbury")
    assert not form.suggestions.isVisible() and "bucks" in form.area_label.text()
    qtbot.keyClicks(form.location, " x")  # list again, Esc closes it first
    qtbot.waitUntil(lambda: form.suggestions.isVisible() or form.suggestions.count() == 0, timeout=3000)
    form.summary.setPlainText("typed")
    if form.suggestions.isVisible():
        qtbot.keyClick(form.location, Qt.Key_Escape)
        assert not form.suggestions.isVisible() and form.summary.toPlainText() == "typed"
    qtbot.keyClick(form.location, Qt.Key_Escape)  # then Esc cancels the unsaved new incident
    assert form.summary.toPlainText() == "" and form.location.text() == ""


def test_save_and_close_are_visible_and_errors_show_in_the_banner_in_view(qtbot, open_as):
    s = open_as("handler.north")
    form = make_form(qtbot, s, size=(430, 420))  # a short panel: the details tab has to scroll
    details = form.tabs.widget(0)
    assert isinstance(details, QScrollArea)
    details.verticalScrollBar().setValue(details.verticalScrollBar().maximum())  # scrolled to the bottom
    for button in (form.save_btn, form.close_btn, form.cancel_btn):
        assert visible_in_form(form, button), button.text()
    assert "Save" in form.save_btn.text() and "Close" in form.close_btn.text()
    form.rationale.setFocus()
    qtbot.keyClick(form.rationale, Qt.Key_S, Qt.ControlModifier)
    assert visible_in_form(form, form.message) and "3 things to fix" in form.message.text()
    assert focused() is form.type  # first invalid field, scrolled back into view
    assert details.verticalScrollBar().value() < details.verticalScrollBar().maximum()
    ops.wait_all()


def test_narrow_panel_never_scrolls_sideways_or_hides_labels(qtbot, open_as):
    form = make_form(qtbot, open_as("handler.north"), size=(400, 700))
    details = form.tabs.widget(0)
    assert details.horizontalScrollBar().maximum() == 0 or not details.horizontalScrollBar().isVisible()
    assert form.minimumSizeHint().width() <= 400
    inner = details.widget()
    assert inner.width() <= details.viewport().width()
    label = inner.layout().itemAt(0).layout().labelForField(form.summary)
    assert label is not None and label.isVisible() and label.geometry().left() >= 0
