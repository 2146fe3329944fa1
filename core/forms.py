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
