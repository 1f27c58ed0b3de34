from django.urls import path

from requests import views

app_name = "requests"

urlpatterns = [
    path("basket/", views.basket_view, name="basket"),
    path("basket/add/", views.basket_add, name="basket_add"),
    path("basket/remove/", views.basket_remove, name="basket_remove"),
]
