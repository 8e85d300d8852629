"""Correlation id == W3C trace id: ids and their spellings, propagators, the HTTP ingress middleware, the
Camber payload / webhook body carrier, and baggage copied onto spans."""
