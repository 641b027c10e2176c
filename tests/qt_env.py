"""Environment for headless QtWebEngine tests; import before anything imports PySide6."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
os.environ.setdefault("QSG_RHI_BACKEND", "null")  # no GL context to fail in the view's compositor
