def test_about_needs_no_credentials(http):
    response = http.get("/xapi/about")
    assert response.status_code == 200
    assert "1.0.3" in response.get_json()["version"]
