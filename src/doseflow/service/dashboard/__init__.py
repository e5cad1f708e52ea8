"""The web dashboard: server-rendered, accessible pages with bundled assets (no internet needed)."""
