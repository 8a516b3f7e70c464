"""Presentation shared by the Streamlit pages, computed without Streamlit: what the pages say
(wording), the figures and tables they draw (charts) and the dataset explorer's views (dataset).

core/ never imports this package (tests/test_architecture.py holds it to that).
"""
