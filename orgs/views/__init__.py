"""The orgs app's pages, one module per area: tree, orgs (org forms), workplaces (workplace forms, assignments),
users, onboarding, rules, audit, security, picker. Every page is a class on core.views.generic."""
