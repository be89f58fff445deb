from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from marketplace.services.accounts import MIN_PASSWORD_LENGTH
from marketplace.services.values import NumberFormat


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class RegistrationForm(FlaskForm):
    kind = RadioField(
        "Your organization is",
        choices=[("fleet", "A fleet: we buy and run trucks or buses"), ("oem", "An OEM: we make or sell them")],
        validators=[DataRequired(message="Choose fleet or OEM.")],
    )
    org_name = StringField("Organization name", validators=[DataRequired(), Length(max=200)])
    country = SelectField("Country", validators=[DataRequired(message="Choose a country.")])
    user_name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Work email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    time_zone = SelectField("Show times in", validators=[DataRequired()])


class NumberFormatForm(FlaskForm):
    number_format = RadioField(
        "How your organization writes numbers",
        choices=NumberFormat.choices(),
        validators=[DataRequired(message="Choose 1,234.56 or 1.234,56.")],
    )


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired()])
    confirm = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("new", "The passwords differ.")]
    )


class ApiTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(message="Name the token."), Length(max=200)])
    scope = RadioField(
        "It may",
        choices=[("read", "Read only"), ("write", "Read and write (post demand, bid, run rounds...)")],
        default="read",
        validators=[DataRequired(message="Choose read or write.")],
    )
