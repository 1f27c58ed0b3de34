"""Form rendering shared by every page: each field with its label, help and errors together."""

from django.forms.renderers import TemplatesSetting


class PortalFormRenderer(TemplatesSetting):
    """Renders fields through templates/forms/field.html, so an error always sits next to its
    field and is tied to the input with aria-describedby."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
