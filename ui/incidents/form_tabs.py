"""The incident form's tabs (details, THRIVE, log, links): widgets only, the form holds the logic.

Each builder sets the widgets it makes as attributes on the form, so the form (and tests) reach
`form.summary`, `form.location`, ... directly. Details scroll vertically only: labels wrap above
their fields on a narrow panel instead of sliding out of sight sideways.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout,
                               QLineEdit, QListWidget, QPushButton, QScrollArea, QSizePolicy,
                               QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel import config
from controlroom.services.incidents.views import THRIVE_FIELDS
from controlroom.services.incidents import FLAG_NAMES

from ..kit.form_widgets import SuggestionKeys, multiline, shrinkable_combo

if TYPE_CHECKING:
    from .form import IncidentForm

FLAG_LABELS = {"firearms": "Firearms", "domestic_abuse": "Domestic abuse", "vulnerable_person": "Vulnerable",
               "repeat_victim": "Repeat victim", "missing_person": "Missing person"}
NO_TYPE = "— choose the incident type"


def vertical_scroller(inner: QWidget) -> QScrollArea:
    scroller = QScrollArea()
    scroller.setWidgetResizable(True)
    scroller.setFrameShape(QFrame.NoFrame)
    scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroller.setWidget(inner)
    return scroller


def any_way_scroller(inner: QWidget) -> QScrollArea:
    """For pages with rows of buttons: they scroll on a very narrow panel instead of widening it."""
    scroller = QScrollArea()
    scroller.setWidgetResizable(True)
    scroller.setFrameShape(QFrame.NoFrame)
    scroller.setWidget(inner)
    return scroller


def details_tab(form: "IncidentForm") -> QWidget:
    f = form
    f.channel = shrinkable_combo()
    for code, c in config.channels().items():
        f.channel.addItem(f"{code} — {c['label']}", code)
    f.type = shrinkable_combo()
    f.type.addItem(NO_TYPE, None)  # no default: the operator chooses (a default once sent FIREARMS)
    for code, t in config.incident_types().items():
        f.type.addItem(f"{code} — {t['label']} ({t['nsir_code']})", code)
    f.grade = shrinkable_combo(10)
    f.grade.addItem("— ungraded", None)
    for g, p in config.grade_policy()["grades"].items():
        f.grade.addItem(f"{g} {p['label']}", g)
    f.location = QLineEdit(placeholderText="Type a place, junction or landmark, or paste 'lat, lon'; "
                                           "Down and Enter to pick")
    f.suggestions = QListWidget()
    f.suggestions.setObjectName("placeSuggestions")
    f.suggestions.setMaximumHeight(110)
    f.suggestions.hide()
    f.suggestion_keys = SuggestionKeys(f.location, f.suggestions, f.pick_row)
    f.area_label = QLabel("Area: —   Room: —")
    f.area_label.setObjectName("areaLabel")
    f.area_label.setWordWrap(True)
    f.address = QLineEdit()
    f.summary = multiline(84)
    f.caller_name = QLineEdit()
    f.caller_phone = QLineEdit()
    f.flags = {name: QCheckBox(FLAG_LABELS[name]) for name in FLAG_NAMES}
    flag_grid = QGridLayout()
    flag_grid.setContentsMargins(0, 0, 0, 0)
    for i, cb in enumerate(f.flags.values()):
        flag_grid.addWidget(cb, i // 3, i % 3)
    f.rationale = QLineEdit(placeholderText="Why the grade changes (needed to regrade)")
    for w in (f.location, f.address, f.caller_name, f.caller_phone, f.rationale):
        w.setMinimumWidth(80)
    form = QFormLayout()
    form.setRowWrapPolicy(QFormLayout.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    rows = (("Channel", "channel", f.channel), ("Type", "incident_type", f.type), ("Grade", "grade", f.grade),
            ("Location", "location", f.location), ("", None, f.suggestions), ("", None, f.area_label),
            ("Address", "address", f.address), ("Summary", "summary", f.summary),
            ("Caller", "caller_name", f.caller_name), ("Caller number", "caller_phone", f.caller_phone),
            ("Flags", "flags", flag_grid), ("Grade rationale", "rationale", f.rationale))
    for label, name, widget in rows:
        form.addRow(label, widget)
        if name is not None:
            target = widget if isinstance(widget, QWidget) else next(iter(f.flags.values()))
            form.addRow("", f.errors.add(name, target, before_focus=lambda: f.tabs.setCurrentIndex(0)))
    f.related = QListWidget()
    f.related.setObjectName("relatedList")
    f.related.setFocusPolicy(Qt.NoFocus)
    f.related.setMinimumHeight(60)
    inner = QWidget()
    lay = QVBoxLayout(inner)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addLayout(form)
    dup = QLabel("Possible duplicates, address history, repeat caller:")
    dup.setWordWrap(True)
    lay.addWidget(dup)
    lay.addWidget(f.related, 1)
    order = [f.channel, f.type, f.grade, f.location, f.address, f.summary, f.caller_name, f.caller_phone,
             *f.flags.values(), f.rationale]
    for a, b in zip(order, order[1:]):
        QWidget.setTabOrder(a, b)
    return vertical_scroller(inner)


def thrive_tab(form: "IncidentForm") -> QWidget:
    f = form
    w = QWidget()
    grid = QGridLayout(w)
    f.thrive_edits = {}
    for i, name in enumerate(THRIVE_FIELDS):
        edit = multiline(52)
        f.thrive_edits[name] = edit
        grid.addWidget(QLabel(name.title()), 2 * i, 0, Qt.AlignTop)
        grid.addWidget(edit, 2 * i, 1)
        grid.addWidget(f.errors.add(name, edit, before_focus=lambda: f.tabs.setCurrentIndex(1)), 2 * i + 1, 1)
    f.risk_level = QComboBox()
    for label, v in (("Risk level —", None), ("High", "high"), ("Medium", "medium"), ("Low", "low")):
        f.risk_level.addItem(label, v)
    f.thrive_version = QLabel("No assessment yet")
    f.thrive_btn = QPushButton("Record assessment")
    f.thrive_btn.clicked.connect(f.save_thrive)
    n = 2 * len(THRIVE_FIELDS)
    grid.addWidget(f.risk_level, n, 0)
    grid.addWidget(f.thrive_version, n, 1)
    grid.addWidget(f.thrive_btn, n + 1, 1)
    return vertical_scroller(w)


def log_tab(form: "IncidentForm") -> QWidget:
    f = form
    w = QWidget()
    f.log_list = QListWidget()
    f.log_list.setObjectName("logList")
    f.log_list.setWordWrap(True)
    f.log_edit = QLineEdit(placeholderText="Add to the log, Enter to save")
    f.log_edit.returnPressed.connect(f.add_log)
    lay = QVBoxLayout(w)
    lay.addWidget(f.log_list, 1)
    lay.addWidget(f.log_edit)
    return w


def links_tab(form: "IncidentForm") -> QWidget:
    f = form
    w = QWidget()
    f.links_list = QListWidget()
    f.history_list = QListWidget()
    f.link_urn = QLineEdit(placeholderText="URN to link")
    f.link_kind = QComboBox()
    f.link_kind.addItem("duplicate", "duplicate")
    f.link_kind.addItem("related", "related")
    f.link_reason = QLineEdit(placeholderText="Reason")
    btn = QPushButton("Link")
    btn.clicked.connect(f.link)
    row = QHBoxLayout()
    for x in (f.link_urn, f.link_kind, f.link_reason, btn):
        x.setSizePolicy(QSizePolicy.Expanding if isinstance(x, QLineEdit) else QSizePolicy.Preferred,
                        QSizePolicy.Fixed)
        row.addWidget(x)
    lay = QVBoxLayout(w)
    lay.addWidget(QLabel("Linked incidents"))
    lay.addWidget(f.links_list, 1)
    lay.addLayout(row)
    lay.addWidget(QLabel("Address history (≤ 50 m, 12 months)"))
    lay.addWidget(f.history_list, 1)
    return w
