from django.dispatch import Signal

# Sent inside the transaction that moves `Tool.draft_head`, with tool, old_head, new_head
# (versions or None). The sandbox app carries each user's sandbox settings over to the new head.
draft_head_changed = Signal()
