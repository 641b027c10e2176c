"""Workforce planning models: demand forecasting per channel per 15 minutes (forecast.py) and
staff required for each line's service level with Erlang C (staffing.py). Pure computation over
counts; controlroom/services/workforce.py reads the database and calls them."""
