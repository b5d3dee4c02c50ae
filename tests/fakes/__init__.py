"""Local stand-ins for outside services the project has no local server for (FCM)."""
