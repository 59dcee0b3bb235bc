// Copy to ${CONFIG}/web/custom-config.js (or add the line to it); the web
// container appends this file to config.js. docker-jitsi-meet has no
// variable for tokenLogoutUrl (tokenAuthUrl comes from TOKEN_AUTH_URL).
config.tokenLogoutUrl = 'https://meet.example.com/_auth/logout';
