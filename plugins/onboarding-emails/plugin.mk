LIBS.onboarding-emails = -lcurl
