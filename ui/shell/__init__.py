"""The console's frame: app (the launcher: sign-in, session, main window), login, main_window,
panels (which panel docks where, each factory an import), layouts, detach (multi-screen), status bar,
banners (alarm, fallback, training band). The only ui layer that may import every other one."""
