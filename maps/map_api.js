/* controlroom live map API (window.crmap): units, incidents, AVL trails, area rooms, clicks. */
(function () {
  'use strict';
  var crmap = window.crmap = {};
  var TRAIL_LEN = 10, LOW_ZOOM = 11, FEW_UNITS = 150, PX_PER_LABEL = 8000;
  var BADGES = [['arv', 'ARV'], ['armed', 'ARV'], ['dog', 'DOG'], ['roads', 'RPU'], ['rpu', 'RPU'],
    ['public_order', 'PO'], ['cid', 'CID'], ['neighbourhood', 'NH'], ['pcso', 'CSO'],
    ['irv', 'IRV'], ['response', 'IRV']];
  var map = null, cfg = {}, groups = {}, areasLayer = null, trailRenderer = null, bridge = null;
  var units = {}, incidents = {}, areaBase = {}, areaLabels = {}, selectedId = null;
  var legendDiv = null, legendTouched = false;
  crmap.events = [];   // last clicks, for tests and debugging

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function inkOn(hex) {  // readable text colour on a swatch (WCAG relative luminance)
    var h = (hex || '').replace('#', ''); if (h.length !== 6) { return cfg.paper; }
    var c = [0, 2, 4].map(function (i) {
      var v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) > 0.3 ? cfg.ink : cfg.paper;
  }
  function emit(name, args) {
    crmap.events.push([name].concat(args)); if (crmap.events.length > 50) { crmap.events.shift(); }
    if (bridge && typeof bridge[name] === 'function') { bridge[name].apply(bridge, args); }
  }
  function connectBridge() {
    if (bridge || typeof qt === 'undefined' || !qt.webChannelTransport || typeof QWebChannel === 'undefined') {
      return !!bridge;
    }
    new QWebChannel(qt.webChannelTransport, function (ch) { bridge = ch.objects.bridge || null; });
    return true;
  }
  crmap.bridgeConnected = function () { return !!bridge; };

  /* ---- units ---- */
  function badge(caps) {
    var lower = (caps || []).map(function (c) { return String(c).toLowerCase(); });
    for (var i = 0; i < BADGES.length; i++) {
      if (lower.indexOf(BADGES[i][0]) >= 0) { return BADGES[i][1]; }
    }
    return lower.length ? lower[0].substr(0, 3).toUpperCase() : '';
  }
  function unitColour(d) { return d.stale ? cfg.staleColour : (cfg.statusColours[d.status] || cfg.staleColour); }
  function unitHtml(d) {
    var col = unitColour(d), b = badge(d.capabilities);
    return '<div class="crmap-unit' + (d.stale ? ' stale' : '') + '" style="background:' + col +
      ';color:' + inkOn(col) + '">' + (b ? '<span class="b">' + esc(b) + '</span>' : '') +
      '<span class="c">' + esc(d.callsign) + '</span></div>';
  }
  function unitLook(d) { return [d.status, !!d.stale, badge(d.capabilities), d.callsign].join('|'); }
  function unitIcon(d) { return L.divIcon({html: unitHtml(d), className: 'crmap-anchor', iconSize: [0, 0]}); }
  function unitTooltip(layer) {
    var d = layer._crData || {};
    return '<b>' + esc(d.callsign) + '</b> ' + esc((d.capabilities || []).join(', ')) + '<br>' +
      esc(statusLabel(cfg.statusLabels, d.status)) + (d.stale ? ' (stale AVL)' : '') +
      (d.incident_urn ? '<br>' + esc(d.incident_urn) : '');
  }
  function pushTrail(u, lat, lon) {
    var pts = u.trail;
    pts.push([lat, lon]); if (pts.length > TRAIL_LEN) { pts.splice(0, pts.length - TRAIL_LEN); }
    if (pts.length < 2) { return; }
    if (!u.line) {
      u.line = L.polyline(pts.slice(), {renderer: trailRenderer, weight: 2, opacity: 0.7, interactive: false,
        dashArray: '4 3', color: unitColour(u.data)}).addTo(groups['AVL trails']);
    } else { u.line.setLatLngs(pts.slice()); }
  }
  function upsertUnit(d) {
    var u = units[d.callsign];
    if (!u) {
      var m = L.marker([d.lat, d.lon], {icon: unitIcon(d), keyboard: false, riseOnHover: true});
      m._crData = d; m.bindTooltip(unitTooltip, {direction: 'top', offset: [0, -8]});
      m.on('click', function () { emit('unitClicked', [d.callsign]); });
      u = units[d.callsign] = {marker: m, data: d, look: unitLook(d), trail: [], line: null};
      m.addTo(groups.Units); pushTrail(u, d.lat, d.lon); return;
    }
    var old = u.data, merged = Object.assign({}, old, d);
    if (merged.lat !== old.lat || merged.lon !== old.lon) {
      u.marker.setLatLng([merged.lat, merged.lon]); pushTrail(u, merged.lat, merged.lon);
    }
    u.data = u.marker._crData = merged;
    var look = unitLook(merged);
    if (look !== u.look) {  // restyle the same marker element in place
      u.look = look; u.marker.options.icon = unitIcon(merged);
      var el = u.marker.getElement(); if (el) { el.innerHTML = unitHtml(merged); }
      if (u.line) { u.line.setStyle({color: unitColour(merged)}); }
    }
  }
  function lowZoomClass() {  // hide callsigns (keep type badge) when zoomed out over many units
    var n = Object.keys(units).length, low = map.getZoom() < LOW_ZOOM && n > FEW_UNITS;
    if (!low && n) {  // or when the visible units are too dense for labels (small map, clusters)
      var b = map.getBounds(), size = map.getSize(), seen = 0;
      for (var cs in units) { if (b.contains(units[cs].marker.getLatLng())) { seen++; } }
      low = seen * PX_PER_LABEL > size.x * size.y;
    }
    L.DomUtil[low ? 'addClass' : 'removeClass'](map.getContainer(), 'crmap-lowzoom');
  }
  function fitLegend() {  // a small map starts with the legend folded (until the user opens it)
    var d = legendDiv && legendDiv.querySelector('details'), s = map.getSize();
    if (d && !legendTouched) { d.open = s.x >= 760 && s.y >= 560; }
  }
  crmap.upsertUnits = function (list) { (list || []).forEach(upsertUnit); lowZoomClass(); return Object.keys(units).length; };
  crmap.removeUnits = function (callsigns) {
    (callsigns || []).forEach(function (cs) {
      var u = units[cs]; if (!u) { return; }
      groups.Units.removeLayer(u.marker); if (u.line) { groups['AVL trails'].removeLayer(u.line); }
      delete units[cs];
    });
    lowZoomClass();
  };
  crmap.getUnit = function (cs) {
    var u = units[cs]; if (!u) { return null; }
    var ll = u.marker.getLatLng();
    return Object.assign({}, u.data, {lat: ll.lat, lon: ll.lng, colour: unitColour(u.data), trail: u.trail.slice()});
  };
  crmap.unitCount = function () { return Object.keys(units).length; };
  // An officer's emergency: centre on the unit and make its marker flash until cleared.
  crmap.alarmUnit = function (cs, lat, lon) {
    var u = units[cs], ll = u ? u.marker.getLatLng() : (lat != null && lon != null ? L.latLng(lat, lon) : null);
    if (!ll) { return false; }
    whenSized(function () { map.setView(ll, Math.max(map.getZoom(), 14)); });
    var el = u && u.marker.getElement(); if (el) { L.DomUtil.addClass(el, 'crmap-alarm'); }
    return true;
  };
  crmap.clearAlarm = function (cs) {
    var u = units[cs], el = u && u.marker.getElement(); if (el) { L.DomUtil.removeClass(el, 'crmap-alarm'); }
  };

  /* ---- incidents ---- */
  function shortUrn(d) { return d.urn ? String(d.urn).split('-').pop() : '#' + d.id; }
  function incColour(d) { return cfg.gradeColours[d.grade] || cfg.ungradedColour; }
  function incHtml(d, selected) {
    var col = incColour(d);
    return '<div class="crmap-inc' + (selected ? ' selected' : '') + '" style="--c:' + col + ';background:' +
      col + ';color:' + inkOn(col) + '">' + esc(d.grade || '–') + ' ' + esc(shortUrn(d)) + '</div>';
  }
  function incZ(d, selected) { return (selected ? 20000 : 10000) - 1000 * (parseInt(String(d.grade || 'G5').substr(1), 10) || 5); }
  function restyleIncident(i) {
    var sel = i.data.id === selectedId;
    i.marker.options.icon = L.divIcon({html: incHtml(i.data, sel), className: 'crmap-anchor', iconSize: [0, 0]});
    var el = i.marker.getElement(); if (el) { el.innerHTML = incHtml(i.data, sel); }
    i.marker.setZIndexOffset(incZ(i.data, sel));
  }
  function incTooltip(layer) {
    var d = layer._crData || {};
    return '<b>' + esc(d.urn || ('#' + d.id)) + '</b> ' + esc(d.grade || '') + ' ' + esc(d.type || '') +
      '<br>' + esc(statusLabel(cfg.incidentStatusLabels, d.status)) + (d.summary ? '<br>' + esc(d.summary) : '');
  }
  function statusLabel(labels, code) {  // the one home is controlroom/kernel/palette.py; an unknown code reads as words
    return (labels || {})[code] || String(code || '').replace(/_/g, ' ');
  }
  function upsertIncident(d) {
    var i = incidents[d.id];
    if (!i) {
      var m = L.marker([d.lat, d.lon], {keyboard: false, riseOnHover: true,
        icon: L.divIcon({html: incHtml(d, d.id === selectedId), className: 'crmap-anchor', iconSize: [0, 0]}),
        zIndexOffset: incZ(d, d.id === selectedId)});
      m._crData = d; m.bindTooltip(incTooltip, {direction: 'top', offset: [0, -22]});
      m.on('click', function () { emit('incidentClicked', [d.id]); });
      incidents[d.id] = {marker: m, data: d}; m.addTo(groups.Incidents); return;
    }
    var merged = Object.assign({}, i.data, d);
    if (merged.lat !== i.data.lat || merged.lon !== i.data.lon) { i.marker.setLatLng([merged.lat, merged.lon]); }
    var changed = merged.grade !== i.data.grade || merged.urn !== i.data.urn;
    i.data = i.marker._crData = merged;
    if (changed) { restyleIncident(i); }
  }
  crmap.upsertIncidents = function (list) { (list || []).forEach(upsertIncident); return Object.keys(incidents).length; };
  crmap.removeIncidents = function (ids) {
    (ids || []).forEach(function (id) {
      var i = incidents[id]; if (!i) { return; }
      groups.Incidents.removeLayer(i.marker); delete incidents[id];
      if (selectedId === id) { selectedId = null; }
    });
  };
  crmap.getIncident = function (id) {
    var i = incidents[id]; if (!i) { return null; }
    var ll = i.marker.getLatLng();
    return Object.assign({}, i.data, {lat: ll.lat, lon: ll.lng, selected: id === selectedId, colour: incColour(i.data)});
  };
  crmap.select = function (id) {
    var prev = incidents[selectedId]; selectedId = (id === undefined ? null : id);
    if (prev) { restyleIncident(prev); }
    var cur = incidents[selectedId]; if (!cur) { return false; }
    restyleIncident(cur);
    var ll = cur.marker.getLatLng();
    // Pan only when it is off-centre (outside the middle 60 % of the view): no needless jumps.
    whenSized(function () { if (!map.getBounds().pad(-0.2).contains(ll)) { map.panTo(ll); } });
    return true;
  };
  crmap.selected = function () { return selectedId; };
  crmap._clickIncident = function (id) { var i = incidents[id]; if (i) { i.marker.fire('click'); } return !!i; };
  crmap._clickUnit = function (cs) { var u = units[cs]; if (u) { u.marker.fire('click'); } return !!u; };
  crmap._contextMenu = function (lat, lon) { map.fire('contextmenu', {latlng: L.latLng(lat, lon)}); };

  /* ---- areas ---- */
  function roomColour(room) { return cfg.roomColours[room] || cfg.defaultRoomColour; }
  function labelHtml(code, name, room) {
    var col = roomColour(room);
    return '<div class="crmap-area-label" data-area="' + esc(code) + '" data-room="' + esc(room || '') +
      '" style="border-color:' + col + '">' +
      esc(name) + '<span class="crmap-area-room" style="color:' + col + '">' +
      esc(room ? room.charAt(0).toUpperCase() + room.slice(1) : 'Unowned') + ' room</span></div>';
  }
  crmap.setAreaRooms = function (rooms) {
    areasLayer.eachLayer(function (l) {
      var p = l.feature.properties;
      if (!Object.prototype.hasOwnProperty.call(rooms, p.code)) { return; }
      p.room = rooms[p.code]; l.setStyle(areasLayer.options.style(l.feature));
      var lab = areaLabels[p.code];
      if (lab) { lab.setIcon(L.divIcon({html: labelHtml(p.code, p.name || p.code, p.room), className: 'crmap-label-anchor', iconSize: [0, 0]})); }
    });
  };
  crmap.getArea = function (code) {
    var out = null;
    areasLayer.eachLayer(function (l) {
      if (l.feature.properties.code === code) { out = Object.assign({}, l.feature.properties, {colour: l.options.color}); }
    });
    return out;
  };
  function whenSized(fn) {  // a hidden (0 x 0) view cannot fit bounds: wait for its first real size
    var s = map.getSize();
    if (s.x > 0 && s.y > 0) { fn(); } else { map.once('resize', function () { whenSized(fn); }); }
  }
  crmap.fitTo = function (code) {
    var b = null;
    if (code) { areasLayer.eachLayer(function (l) { if (l.feature.properties.code === code) { b = l.getBounds(); } }); }
    whenSized(function () { map.fitBounds(b || L.latLngBounds(cfg.bounds), {padding: [20, 20]}); });
    return !!b;
  };

  crmap.tooltipOf = function (kind, key) {  // what a hover shows (tests, tools)
    var rec = kind === 'unit' ? units[key] : incidents[key];
    if (!rec) { return null; }
    var layer = rec.marker; return kind === 'unit' ? unitTooltip(layer) : incTooltip(layer);
  };

  /* ---- one call per Python flush ---- */
  crmap.applyBatch = function (b) {
    if (b.removeUnits) { crmap.removeUnits(b.removeUnits); }
    if (b.removeIncidents) { crmap.removeIncidents(b.removeIncidents); }
    if (b.units) { crmap.upsertUnits(b.units); }
    if (b.incidents) { crmap.upsertIncidents(b.incidents); }
    if (b.areaRooms) { crmap.setAreaRooms(b.areaRooms); }
    if ('select' in b) { crmap.select(b.select); }
    if (b.fitTo !== undefined) { crmap.fitTo(b.fitTo); }
    return {units: Object.keys(units).length, incidents: Object.keys(incidents).length};
  };

  crmap.init = function (leafletMap, opts) {
    map = leafletMap; cfg = opts.config; groups = opts.groups; areasLayer = opts.areas;
    trailRenderer = L.canvas({padding: 0.3});
    // Style from the owning room, so transfers and hover-reset both use the current room.
    areasLayer.eachLayer(function (l) { areaBase[l.feature.properties.code] = Object.assign({}, l.options); });
    areasLayer.options.style = function (f) {
      var s = Object.assign({}, areaBase[f.properties.code] || {}), col = roomColour(f.properties.room);
      s.color = col; s.fillColor = col; return s;
    };
    if (opts.areaGroup) {
      opts.areaGroup.eachLayer(function (l) {
        var m = l.options.icon && /data-area="([^"]+)"/.exec(l.options.icon.options.html || '');
        if (m) { areaLabels[m[1]] = l; }
      });
    }
    var Legend = L.Control.extend({onAdd: function () {
      var div = legendDiv = L.DomUtil.create('div', 'crmap-legend'); div.innerHTML = cfg.legendHtml;
      div.querySelector('summary').addEventListener('click', function () { legendTouched = true; });
      L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div); return div;
    }});
    new Legend({position: 'bottomright'}).addTo(map);
    if (cfg.overlayHtml) { map.getContainer().insertAdjacentHTML('beforeend', cfg.overlayHtml); }
    if (cfg.training) { L.DomUtil.addClass(map.getContainer(), 'crmap-training'); }
    map.on('zoomend moveend resize', lowZoomClass); lowZoomClass();
    map.on('resize', fitLegend); fitLegend();
    map.on('contextmenu', function (e) { emit('mapContextMenu', [e.latlng.lat, e.latlng.lng]); });
    whenSized(function () { map.fitBounds(L.latLngBounds(cfg.bounds), {padding: [10, 10], animate: false}); });
    if (cfg.baseMap) { addBaseMap(cfg.baseMap); }
    if (!connectBridge()) { window.addEventListener('load', connectBridge); }
    crmap.ready = true;
  };

  // ---- the force's base map (MBTiles through crtiles://, or a WMS/WMTS server) ----
  var baseLayers = {}, baseTheme = 'day';
  function baseLayer(b, theme) {
    // Below the file's lowest zoom the layer is hidden (never thousands of tiny tiles); above its
    // highest zoom its last tiles are enlarged; outside its bounds nothing is asked for.
    var opts = {maxZoom: 19, minZoom: b.minZoom || 0, maxNativeZoom: b.maxNativeZoom || 19,
                attribution: b.attribution || '', className: 'crmap-base', keepBuffer: 1};
    if (b.bounds) { opts.bounds = L.latLngBounds([[b.bounds[1], b.bounds[0]], [b.bounds[3], b.bounds[2]]]); }
    if (b.kind === 'wms') {
      return L.tileLayer.wms(b.url, Object.assign(opts, {layers: b.layers, format: b.format || 'image/png',
                                                          transparent: false}));
    }
    return L.tileLayer(theme === 'night' && b.night ? b.night : b.day, opts);
  }
  function addBaseMap(b) {
    baseLayers.day = baseLayer(b, 'day').addTo(map);
    baseLayers.day.bringToBack();
    if (b.night) { baseLayers.night = baseLayer(b, 'night'); }
  }
  crmap.setTheme = function (theme) {  // 'day' | 'night': a night file if configured, else dimmed
    baseTheme = theme === 'night' ? 'night' : 'day';
    var c = map.getContainer();
    L.DomUtil[baseTheme === 'night' ? 'addClass' : 'removeClass'](c, 'crmap-night');
    document.body.classList.toggle('crmap-night', baseTheme === 'night');  // labels, legend, tooltips too
    if (baseLayers.night) {
      var on = baseTheme === 'night' ? baseLayers.night : baseLayers.day;
      var off = baseTheme === 'night' ? baseLayers.day : baseLayers.night;
      if (map.hasLayer(off)) { map.removeLayer(off); }
      if (!map.hasLayer(on)) { on.addTo(map); on.bringToBack(); }
      L.DomUtil[baseTheme === 'night' ? 'addClass' : 'removeClass'](c, 'crmap-night-tiles');
    }
    return baseTheme;
  };
  crmap.baseTilesLoaded = function () {  // tests: how many base tiles are on screen and complete
    var n = 0;
    document.querySelectorAll('.crmap-base img.leaflet-tile-loaded').forEach(function (i) { if (i.naturalWidth) { n++; } });
    return n;
  };
}());
