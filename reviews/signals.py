"""Signals the reviews app sends, so higher apps react without import cycles (DESIGN.md §4).

``review_changed`` is sent after the transaction that published, changed, unpublished or deleted
reviews has committed. ``seals`` listens to recompute averages and tiers (R26) and to invalidate
the shop's public caches.

Arguments: ``company_id`` and ``shop_id`` (ints), ``product_ids`` (a set of Product ids whose
product averages may have changed; empty for merchant reviews only).
"""

from django.dispatch import Signal

review_changed = Signal()
