"""Columns derived from others on every ORM write: the Vietnamese sort key and the folded search
text of agencies, regimes and indicators (app/adapters/collation.py). Writes that bypass the ORM
(bulk inserts) must fill them the same way: `derive()`."""
from __future__ import annotations

from sqlalchemy import event

from app.adapters.collation import fold, sort_key

from .agency import Agency
from .catalogue import Indicator, Regime


def derive(obj) -> None:
    if isinstance(obj, Agency):
        obj.sort_name = sort_key(obj.name)
        obj.search_text = fold(f"{obj.name} {obj.code} {obj.official_code or ''}")[:400]
    elif isinstance(obj, Regime):
        obj.search_text = fold(" ".join(filter(None, (obj.code, obj.name_vi, obj.name_en, obj.legal_basis))))
    elif isinstance(obj, Indicator):
        obj.search_text = fold(" ".join(filter(None, (obj.code, obj.name_vi, obj.name_en))))


for model in (Agency, Regime, Indicator):
    event.listen(model, "before_insert", lambda _mapper, _conn, target: derive(target))
    event.listen(model, "before_update", lambda _mapper, _conn, target: derive(target))
