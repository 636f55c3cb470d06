from django.dispatch import Signal

# Sent inside a merge's transaction, with `project_id`, when the merge created collections in
# that (target) project. The target's own sandboxes get the new names once it commits, as for a
# collection created any other way (kvcollections' `collection_created`).
collections_merged = Signal()
