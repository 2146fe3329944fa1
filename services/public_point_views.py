"""Public page for gig workers without an account: the open service points nearest to a street, a
workplace or the browser's location, with a server-drawn sketch. No login; no internal data; the
location is used for this answer only and never stored."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from services.point_forms import NearestOriginForm
from services.selectors import points as selectors


@require_GET
def nearest_points(request):
    form = NearestOriginForm(request.GET or None, streets=selectors.public_streets())
    origin, nearby, reach_m = None, [], None
    if form.is_bound and form.is_valid():
        origin = form.origin()
        if origin is not None:
            nearby, reach_m = selectors.nearest_open_points(latitude=origin.latitude, longitude=origin.longitude)
    scale = selectors.layout_scale(nearby, reach_m) if origin is not None else None
    return render(request, "services/public/nearest.html", {
        "form": form, "origin": origin, "candidates": form.candidates, "nearby": nearby, "reach_m": reach_m,
        "reach_km": reach_m / 1000 if reach_m else None,
        "reach_radius": round(reach_m / scale, 1) if scale else None,
        "limit": selectors.PUBLIC_LIMIT,
    })
