"""marshmallow schemas of the API (the OpenAPI description is generated from them)."""
from marshmallow import INCLUDE, Schema, fields, validate


class ErrorDetailSchema(Schema):
    """One problem. Besides these, a detail may name where it is (`where`: sheet!cell, file line,
    values[i]), the indicator, and a machine-readable `code`."""

    class Meta:
        unknown = INCLUDE  # documented as open: additional properties allowed

    message = fields.String(required=True)
    field = fields.String()
    file = fields.String()
    line = fields.Integer()
    where = fields.String()
    indicator = fields.String()
    code = fields.String()


class ApiErrorSchema(Schema):
    class ApiErrorBody(Schema):
        code = fields.String(required=True)
        message = fields.String(required=True)
        details = fields.List(fields.Nested(ErrorDetailSchema))

    error = fields.Nested(ApiErrorBody, required=True)


class QueryInt(fields.Integer):
    """A whole number in a query string: digits only (the lax field took '2.589e-42' as 0)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and value.strip().isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PageArgs(Schema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = QueryInt(load_default=100, validate=validate.Range(min=1, max=1000))


class DeadlineSchema(Schema):
    tier = fields.Integer()
    tier_name = fields.String()
    receiver = fields.String()
    nominal = fields.Date()
    deadline = fields.String(metadata={"description": "ISO 8601 with +07:00"})
    moved = fields.Boolean()
    moved_because = fields.String(allow_none=True)


class PeriodSchema(Schema):
    key = fields.String()
    label = fields.String()
    cutoff_start = fields.Date()
    cutoff_end = fields.Date()
    deadline = fields.String(metadata={"description": "first tier's deadline, ISO 8601 with +07:00"})
    moved = fields.Boolean(metadata={"description": "whether a holiday or weekend moved the first tier's deadline"})
    moved_because = fields.String(allow_none=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema))


class PeriodRangeArgs(Schema):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)


class RegimeListArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    issuing_agency = fields.String(load_default="", validate=validate.Length(max=40))
    type = fields.String(load_default="", validate=validate.OneOf(["", "periodic", "thematic", "ad_hoc"]))
    frequency = fields.String(load_default="", validate=validate.Length(max=20))


class RegimeSummarySchema(Schema):
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String(allow_none=True)
    type = fields.String()
    frequency = fields.String()
    issuing_agency = fields.String(attribute="issuing_agency_code")
    legal_basis = fields.String(allow_none=True)
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    version = fields.Function(lambda r: r["version"] if isinstance(r, dict) else r.current_version.version)


class TierSchema(Schema):
    name = fields.String()
    reporters = fields.Dict()
    receiver = fields.String()
    deadline_rule = fields.String()


class RegimeDetailSchema(RegimeSummarySchema):
    content = fields.String()
    content_kind = fields.String()
    sending_methods = fields.List(fields.String())
    cutoff_rule = fields.Dict()
    tiers = fields.List(fields.Nested(TierSchema))
    outline = fields.List(fields.Dict())
    forms = fields.List(fields.Dict())
    process_guidance = fields.String()
    published_at = fields.DateTime()
    content_hash = fields.String()


class IndicatorSchema(Schema):
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String(allow_none=True)
    unit = fields.String()
    value_type = fields.String()
    aggregation = fields.String()
    disaggregations = fields.List(fields.String())
    min = fields.Float(attribute="min_value", allow_none=True)
    max = fields.Float(attribute="max_value", allow_none=True)
    description = fields.String(allow_none=True)
    numerator = fields.List(fields.String())
    denominator = fields.List(fields.String())
    scale = fields.Float()


class IndicatorListArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=200))


class AgencySchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    kind = fields.String(allow_none=True)
    official_code = fields.String(allow_none=True)
    edoc_code = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)


class AgencyListArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    level = fields.String(load_default="", validate=validate.Length(max=20))
    parent = fields.String(load_default="", validate=validate.Length(max=40))
    on = fields.Date(load_default=None, metadata={"description": "units in force on this day (default: today)"})
    include_closed = fields.Boolean(load_default=False)
