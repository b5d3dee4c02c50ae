"""Push delivery tasks (notifications.deliver, notifications.sweep); see domain/push_delivery.py."""
