"""The language layer: what a citizen's words mean, with no I/O and no storage (imports nothing of ours).

    text.py        normalising what people type and what speech recognition writes (full-width, case, ...)
    knowledge/     the city's common questions (即问即答): which entry answers a question, if any; reads the
                   folder of knowledge files its caller names (catalogue/knowledge/), nothing else
    places/        where a request is: roads, junctions, compounds, buildings, landmarks, and the district
                   (find_place, is_place_answer), from the gazetteer files it is given

Understanding grows here room by room: danger and scope (triage), places, the request's classification,
the dialog act of a chat message, the city's knowledge base. Every channel and the domain (tickets/)
call it; it calls nothing of ours.
"""
