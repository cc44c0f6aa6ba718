package wxtest

import "encoding/base64"

// IssueLoginCode plays wx.login in the mini program miniAppID for the user openID ("" generates
// one): it returns the js_code the mini program would send to its server. The code is single-use
// and valid 5 minutes on the emulator clock; component jscode2session exchanges it.
func (s *Server) IssueLoginCode(miniAppID, openID string) (code string) {
	if openID == "" {
		openID = "o" + randAlnum(27)
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.loginCodes) >= s.loginSweepAt {
		// Expired codes answer 40029 like unknown ones, so forgetting them changes nothing; used
		// codes are kept until they expire, for 40163.
		for c, lc := range s.loginCodes {
			if !now.Before(lc.expires) {
				delete(s.loginCodes, c)
			}
		}
		s.loginSweepAt = 2*len(s.loginCodes) + 64
	}
	code = "0" + randAlnum(31)
	s.loginCodes[code] = &loginCode{user: userKey{miniAppID, openID}, expires: now.Add(loginCodeTTL)}
	return code
}

// SetUnionID makes jscode2session return unionID for the user openID of miniAppID ("" removes it).
func (s *Server) SetUnionID(miniAppID, openID, unionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey{miniAppID, openID}
	if unionID == "" {
		delete(s.unionIDs, k)
		return
	}
	s.unionIDs[k] = unionID
}

// Session returns the session_key jscode2session last issued for the user openID of miniAppID, so
// that a test can encrypt user data (crypto.EncryptUserData) as the mini program would receive it.
func (s *Server) Session(miniAppID, openID string) (sessionKey string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessionKey, ok = s.sessions[userKey{miniAppID, openID}]
	return sessionKey, ok
}

// newSessionKey returns a session_key: 16 random bytes in standard base64.
func newSessionKey() string { return base64.StdEncoding.EncodeToString(randBytes(16)) }
