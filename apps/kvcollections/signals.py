from django.dispatch import Signal

# Sent inside the transaction that creates a collection, with `collection`. The sandbox projects
# app gives the project's live sandboxes an empty namesake once that transaction commits.
collection_created = Signal()
