"""Complaints (投诉): opening and marking them, the reply and the agreed deadline, the 《客户投诉反馈表》 with
its exports, and the month's figures."""
