"""Models of the moderation app arrive with its issue; the app exists so its jobs are wired."""
