def test_about_needs_no_credentials(http):
    response = http.get("/xapi/about")
    assert response.status_code == 200
    assert "1.0.3" in response.get_json()["version"]


def test_nul_characters_in_the_path_or_query_are_a_400(http, xapi):
    for url in ("/api/v1/ecm/events/%00/report.xml", "/api/v1/reports/learners?trust=%00",
                "/xapi/statements?registration=a%00b"):
        response = http.get(url, headers=xapi)
        assert response.status_code == 400, url
        assert response.get_json()["errors"][0]["rule"] == "no NUL characters"
