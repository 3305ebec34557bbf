module github.com/callpulse/callpulse

go 1.26.8
