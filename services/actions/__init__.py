"""Writes for services. One module per area; import from the module itself.

common: state-machine check, SLA due time, timeline entries
intake: request_submit (public intake, routing, tracking code) and abuse limits
handling: staff transitions, reroute, assign, notes and replies, escalation, requester confirm/reopen
points: service points and the 15-minute circle (WorkplaceReach)
"""
