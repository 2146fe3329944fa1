"""Form helpers shared by the apps."""

from django import forms

from core.dates import sane_date_validator


class BootstrapFormMixin:
    """Give widgets Bootstrap classes and mark invalid fields, so templates stay plain. Every date and
    date-time field also refuses dates outside the sane range (core.dates, rule rows)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, (forms.DateField, forms.DateTimeField)) and sane_date_validator not in field.validators:
                field.validators.append(sane_date_validator)
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"


class SearchSelect(forms.Select):
    """A select for a model choice among thousands (orgs in a city district): it renders only the chosen
    option and the first `limit` choices, plus a search box that fetches matching options from
    `search_url` (htmx, `?q=`), so no page lists every org. Validation is the field's, on its full queryset,
    so a value outside it is refused as usual."""

    template_name = "core/widgets/search_select.html"

    def __init__(self, *, search_url: str = "", search_params: dict | None = None, limit: int = 20, attrs=None):
        super().__init__(attrs=attrs)
        self.search_url = search_url
        self.search_params = search_params or {}
        self.limit = limit

    def optgroups(self, name, value, attrs=None):
        iterator = self.choices
        queryset = getattr(iterator, "queryset", None)
        if queryset is None:  # plain choices: nothing to bound
            return super().optgroups(name, value, attrs)
        field = iterator.field
        chosen = [v for v in value if v not in ("", None)]
        try:  # a hand-edited value (not a number, or past the column's range) picks nothing; the field refuses it
            picked = list(queryset.filter(pk__in=chosen)) if chosen else []
        except (ValueError, TypeError, OverflowError):
            picked = []
        rest = list(queryset.exclude(pk__in=[o.pk for o in picked])[: self.limit])
        choices = [("", field.empty_label)] if field.empty_label is not None else []
        choices += [iterator.choice(obj) for obj in picked + rest]
        full = self.choices
        self.choices = choices
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = full

    def get_context(self, name, value, attrs):
        from urllib.parse import urlencode

        context = super().get_context(name, value, attrs)
        if self.search_url:
            query = urlencode({**self.search_params, "name": name})
            context["widget"]["search_url"] = f"{self.search_url}?{query}"
        context["widget"]["limit"] = self.limit
        return context
