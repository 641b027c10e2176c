"""The incident form's location half: suggestions as the operator types, the pick, duplicates nearby.

Location integrity (issue 18 item 4): typing in the location field drops the coordinates until a
place is picked, so a save can never keep the old pin under a new place name; the address a
pick filled in follows the next pick.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidgetItem

from ..kit.ops import run_op

UNRESOLVED = "Location not resolved: pick a suggestion (Down, then Enter)."
PLACE_KINDS = {"address": "address, UPRN", "postcode": "postcode", "street": "street", "place": "town/village",
               "landmark": "landmark", "junction": "junction", "coordinates": "coordinates"}


class LocationMixin:
    """Mixed into IncidentForm (needs its location/address/suggestions/related widgets)."""

    def _location_edited(self, _text: str) -> None:
        """The text no longer describes the pin: drop the coordinates until a place is picked."""
        self.lat = self.lon = None
        self.uprn = self.location_ref = None
        self.area_label.setText(UNRESOLVED)
        self._suggest_timer.start()

    def _suggest(self) -> None:
        text = self.location.text()
        svc = self.ctx.session.incidents

        def search() -> tuple[list[Any], str | None]:
            places = svc.suggest_places(text)
            return places, (svc.no_match_message(text) if not places and text.strip() else None)

        run_op(self, search, on_done=lambda r: self._show_places(r[0], for_text=text, no_match=r[1]),
               on_error=self._error)

    def _show_places(self, places: list[Any], *, for_text: str | None = None,
                     no_match: str | None = None) -> None:
        if for_text is not None and for_text != self.location.text():
            return  # an answer for text the operator has already changed
        self.suggestions.clear()
        self._places = list(places)
        for p in places:
            where = f"{p.area_code} · {p.room_code} room" if p.inside_force else "OUTSIDE THE FORCE"
            self.suggestions.addItem(f"{p.name}  ({PLACE_KINDS.get(p.kind, p.kind)}; {where})")
        if no_match:  # an empty search says so: never a silent nothing
            item = QListWidgetItem(no_match)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.suggestions.addItem(item)
        self.suggestions.setCurrentRow(-1)  # nothing highlighted until the operator moves to it
        self.suggestions.setVisible(bool(places) or bool(no_match))
        if len(places) == 1 and places[0].kind == "coordinates":
            self.pick_row(0)  # pasted coordinates are the operator's own pick

    def pick_row(self, row: int) -> None:
        if not 0 <= row < len(self._places):
            return
        p = self._places[row]
        self.lat, self.lon = p.lat, p.lon
        self.uprn, self.location_ref = p.uprn, p.ref
        name = None if p.kind == "coordinates" else p.name
        if not self.address.text().strip() or self.address.text() == self._auto_address:
            self.address.setText(name or "")
            self._auto_address = name
        self.location.setText(p.name)
        self._show_places([])
        self.area_label.setText(f"Area: {p.area_code or 'outside the force'}   Room: {p.room_code or '—'}")
        for name_ in ("location", "address"):
            self.errors.labels[name_].hide()
            self.errors._mark(self.fields[name_], False)
        self.refresh_related()

    def _pick_place(self, item: Any) -> None:
        self.pick_row(self.suggestions.row(item))

    def refresh_related(self) -> None:
        if self.lat is None or self.lon is None:
            return
        lat, lon, phone = self.lat, self.lon, self.caller_phone.text() or None
        ex = self.incident.id if self.incident else None
        uprn, ref = self.uprn, self.location_ref
        run_op(self, lambda: self.ctx.session.incidents.find_related(lat=lat, lon=lon, caller_phone=phone,
                                                                     exclude_id=ex, uprn=uprn, location_ref=ref),
               on_done=self._show_related, on_error=self._error)

    def _show_related(self, rel: Any) -> None:
        self.related.clear()
        self.history_list.clear()
        if rel.repeat_caller_count:
            self.related.addItem(f"Repeat caller: {rel.repeat_caller_count} call(s) in 12 months")
        for d in rel.duplicates:
            dist = f"{d.distance_m:.0f} m" if d.distance_m is not None else ""
            self.related.addItem(f"POSSIBLE DUPLICATE {d.urn}  {d.incident_type}  {dist}  ({d.reason})  {d.summary}")
        for h in rel.history:
            line = f"{h.created_at:%d %b %Y}  {h.urn}  {h.incident_type}  {h.closing_code or h.status}  {h.summary}"
            self.history_list.addItem(line)
            self.related.addItem("history: " + line)
