"""Satisfaction callbacks (回访): surveys scheduled for resolved tickets, asked by phone, SMS or by hand."""
