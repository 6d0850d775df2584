"""Signals the companies app sends, so higher apps react without import cycles (DESIGN.md §4).

``shop_enforcement_changed`` is sent after the transaction that changed a shop's enforcement
state has committed (R30, 004 §6.11, §7.10): public pages disabled or enabled, ratings stopped
or resumed, the seal suspended, withdrawn or reinstated, or the company's backend access blocked
or unblocked (then once per shop of the company). The seals app listens to retire the shop's
cached public responses (certificate page, widget, seal, feed) at once, for that shop only.

Arguments: ``company_id`` and ``shop_id`` (ints), ``action`` (the moderation log's action name).
"""

from django.dispatch import Signal

shop_enforcement_changed = Signal()
