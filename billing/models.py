"""Models of the billing app arrive with its issue; the app exists so its jobs are wired."""
